"""What every app's pages share and that belongs to none of them: sortable, searchable lists and
the one way dates and durations are written. It imports no portal app (the lowest layer above
the Dynamics client)."""
