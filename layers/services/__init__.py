"""Services built on the layers that are not map layers themselves: alert evaluation, playback, exports."""
