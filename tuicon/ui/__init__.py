"""The Textual app. Imported only by the command line; the engine never imports it."""
