"""The measurement window (``tspcm gui``): PyMeasure's ManagedWindow on one open bench, writing HDF5
run files. See docs/gui.md. Nothing here imports Qt until used: ``tspcm_lab.gui.window.RunWindow``,
``tspcm_lab.gui.app.run``."""
