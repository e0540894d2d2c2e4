-- Fixture: never loads (its migration is refused, see migrations/).
relais.on("never", function() end)
