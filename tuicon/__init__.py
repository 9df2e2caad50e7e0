"""tuicon: QEMU's character-device layer on asyncio, with a Textual front end."""

__version__ = "0.1.0"
