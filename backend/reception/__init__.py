"""Reception days (代表接待选民日): rules and days, duty rosters, appointments, records and calendar feeds."""
