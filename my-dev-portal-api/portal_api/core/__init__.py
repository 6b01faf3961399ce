"""The ground floor: the container's type, metrics counters, the transaction guard, the change feed."""
