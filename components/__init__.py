"""The platform's services, one module each (components/<stem>.py: settings, DR profile, Pulumi
component, posture), listed in order by components/registry.py."""
