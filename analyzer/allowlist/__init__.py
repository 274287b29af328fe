"""Allowlists: reading request documents and firewall configs, matching like each device, diffing, linting."""
