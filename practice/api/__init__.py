"""The agent API (/api/v1/): thin views over the practice services, a module per subject."""
