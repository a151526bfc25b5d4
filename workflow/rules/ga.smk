# Rules of the ga stage.
