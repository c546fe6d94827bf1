"""Deploying a stack with the Pulumi Automation API, and the per-component evidence of an update."""
