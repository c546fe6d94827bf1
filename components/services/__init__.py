"""Optional services, one module each, discovered by components.service.service_specs()."""
