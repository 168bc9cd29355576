"""Results -> what people see: JSON shapes, CSV and table rows, terminal progress."""
