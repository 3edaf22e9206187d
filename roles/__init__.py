# maillab's role programs: the mail server and the user agent (plus container healthchecks).
