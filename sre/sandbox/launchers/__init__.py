"""One module per sandbox component; each exports LAUNCHER."""
