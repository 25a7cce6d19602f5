"""gridroll: community mass testing by grid, building and household."""
