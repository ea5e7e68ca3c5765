"""HTTP plumbing shared by the routers: dependencies, auth, health."""
