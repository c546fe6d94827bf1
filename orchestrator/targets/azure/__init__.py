"""The azure target: drctl's steps against a real subscription.

deploy.py (the Pulumi Automation API wrapper), deploy_events.py (per-resource evidence from the
engine's events), deploy_session.py (one `pulumi up` shared by the per-component deploy steps),
target.py (the step runner). Kept free of imports so each module loads only what it needs.
"""
