"""Shadow 3.x: generate a config from a scenario (`generate`) and check any config against
Shadow's rules (`check`)."""
