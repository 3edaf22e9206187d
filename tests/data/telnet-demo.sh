# The lecture's SMTP session typed into telnet, one line after each server reply, as a
# person would: fed to `labctl shell mallory` on stdin. SMTP_HOST/SMTP_PORT default to
# the lecture's `telnet mail.hamburger.edu 25`; MAIL_FROM to Alice (forged by mallory).
coproc SMTP { telnet "${SMTP_HOST:-mail.hamburger.edu}" "${SMTP_PORT:-25}" 2>&1; }
exec 3<&"${SMTP[0]}" 4>&"${SMTP[1]}"
expect() {  # print what telnet shows until a reply line "$1 ..." (fail on another code)
    local line
    while IFS= read -r -t 30 line <&3; do
        line=${line%$'\r'}
        case "$line" in [0-9][0-9][0-9][\ -]*) echo "S: $line" ;; *) echo "$line" ;; esac
        case "$line" in "$1 "*) return 0 ;; [0-9][0-9][0-9]\ *) return 1 ;; esac
    done
    echo "telnet-demo: no $1 reply" >&2
    return 1
}
say() { echo "C: $1"; printf '%s\n' "$1" >&4; }
expect 220 &&
    say "EHLO mallory.internet.test" && expect 250 &&
    say "MAIL FROM:<${MAIL_FROM:-alice@crepes.fr}>" && expect 250 &&
    say "RCPT TO:<bob@hamburger.edu>" && expect 250 &&
    say "DATA" && expect 354 &&
    say "From: alice@crepes.fr" && say "To: bob@hamburger.edu" &&
    say "Subject: telnet demo" && say "" &&
    say "Do you like ketchup?" && say "How about pickles?" && say "." && expect 250 &&
    say "QUIT" && expect 221
