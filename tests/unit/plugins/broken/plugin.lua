-- Fixture: a syntax error; the other plugins load anyway.
relais.on("x", function( end
