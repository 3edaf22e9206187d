# The FastAPI controller: lab state, injection, captures, runs.
