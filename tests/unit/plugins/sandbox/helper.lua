-- A module of the sandbox fixture: required once, cached.
loads = (loads or 0) + 1
return {answer = 42}
