"""Each service's smoke and data checks, one module per service (smoke_tests/<stem>.py), as Check
objects (smoke_tests/check.py) that the service's DR profile refers to.

drctl runs them in each component's smoke and validate steps; a person runs the smoke checks with
pytest against a deployed stack's outputs (smoke_tests/conftest.py, smoke_tests/test_stack.py).
"""
