"""The seat holder's inbox: InMail and message threads, notes, their copy checkboxes, and the
mobile API."""
