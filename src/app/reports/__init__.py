"""Results: AAPOR dispositions and rates, answers per question, responses for a spreadsheet."""
