# Rules of the scan stage.
