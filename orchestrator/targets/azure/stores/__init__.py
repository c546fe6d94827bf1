"""The data stores on Azure: what recovering, validating and checking each one takes."""
