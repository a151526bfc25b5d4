# Rules of the interactions stage.
