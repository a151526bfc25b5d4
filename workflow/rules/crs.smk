# Rules of the crs stage.
