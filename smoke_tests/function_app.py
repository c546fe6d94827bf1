"""Azure Functions app (Elastic Premium, Linux): the checks its DR profile declares
(components/function_app.py), on Azure.

- `function-app-running`: ARM says the site's state is Running (not Stopped).
- `function-health-endpoint`: GET https://{defaultHostName}{HEALTH_PATH}, the route the app declares
  as its health check (HEALTH_PATH below, also its siteConfig.healthCheckPath),
  answers 200. The host name is the site's, from its ARM GET. No token is sent: the health function
  is anonymous, as App Service's own health check calls it, and an Entra token for any audience
  would reach the app's code.
"""

from __future__ import annotations

from typing import Any

from smoke_tests.check import AZURE, TRANSPORT_DOUBLE, PermanentError, TransientError, smoke
from smoke_tests.probe import ServiceProbe, provisioned

COMPONENT = "function_app"
# The route the app's health function answers on: the program sets it as siteConfig.healthCheckPath
# (components/function_app.py takes it from here, with the checks).
HEALTH_PATH = "/api/health"
SITE_TYPE = "azure-native:web:WebApp"
# Microsoft.Web has no example payloads in the specs kept here, and the app's endpoint never has any.
SITE_DOUBLE = TRANSPORT_DOUBLE + "a hand-written Microsoft.Web/sites GET: no example of it in the specs kept here"


def function_app_running(probe: ServiceProbe) -> dict:
    return provisioned(probe, SITE_TYPE, "state", frozenset({"Running"}))


def health_url(probe: ServiceProbe) -> str:
    site = probe.get(probe.resource(SITE_TYPE))
    host = (site.get("properties") or {}).get("defaultHostName")
    if not host:
        raise PermanentError(f"function app {site.get('name')}: ARM reports no defaultHostName to call",
                             {"id": site.get("id")})
    return f"https://{host}{HEALTH_PATH}"


def function_health_endpoint(probe: ServiceProbe) -> dict:
    from azure.core import PipelineClient
    from azure.core.pipeline import policies
    from azure.core.rest import HttpRequest

    url = health_url(probe)
    kwargs: dict[str, Any] = dict(probe.client_kwargs)
    client: Any = PipelineClient(url, policies=[
        policies.HeadersPolicy(), policies.RetryPolicy(**{k: v for k, v in kwargs.items() if k.startswith("retry_")})],
        transport=kwargs.get("transport"))
    response = probe.call(f"GET {url}", client.send_request, HttpRequest("GET", url))
    status = response.status_code
    evidence = {"url": url, "status": status}
    if status == 200:
        return evidence
    # A new instance answers 503 while the host starts (cold start after a redeploy): worth waiting for.
    if status in (429, 502, 503, 504):
        raise TransientError(f"function app health endpoint {url}: HTTP {status}, not 200 yet")
    raise PermanentError(f"function app health endpoint {url}: HTTP {status}, not 200"
                         + ("; the health function must allow anonymous calls" if status in (401, 403) else ""),
                         evidence)


CHECKS = (
    smoke(COMPONENT, "function-app-running", function_app_running, AZURE, plane="management",
          tested_against=SITE_DOUBLE),
    smoke(COMPONENT, "function-health-endpoint", function_health_endpoint, AZURE,
          tested_against=SITE_DOUBLE + "; the app's own /api/health answered by the double"),
)
