"""The `paperpred` command."""
