error("must never run: the migration is refused")
