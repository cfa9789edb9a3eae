"""The sandbox payment provider: a remote provider that runs on loopback, for sandbox tenants."""
