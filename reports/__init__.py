"""Reports and exports: tabular files (Excel, CSV) now, invoices and finance reports later."""
