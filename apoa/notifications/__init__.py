"""Staff notifications: the bell on every staff page, the list at /notifikasi, and the mails
(each one or a daily digest) that the job worker sends. services.py decides who is told what."""
