#!/bin/bash
# A service made of several processes that talk to each other (tests/integration/
# migrate_process_tree.sh): bash as the init, a producer piping numbers to a consumer, and
# a client sending numbers over a unix socket to a server that checks they come in order.
# The state each keeps is in /tmp: piped, received, and gap if a number was skipped.
serve='use IO::Socket::UNIX;
unlink "/tmp/s.sock";
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => "/tmp/s.sock", Listen => 1) or die "listen: $!";
my $c = $s->accept; my $last = 0;
while (my $n = <$c>) {
  chomp $n;
  if ($n != $last + 1) { open(my $g, ">>", "/tmp/gap"); print $g "$last -> $n\n"; close $g }
  $last = $n;
  open(my $f, ">", "/tmp/received.new"); print $f "$n\n"; close $f; rename "/tmp/received.new", "/tmp/received";
}'
send='use IO::Socket::UNIX;
my $c;
until ($c = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => "/tmp/s.sock")) { select(undef, undef, undef, 0.05) }
$c->autoflush(1);
for (my $n = 1; ; $n++) { print $c "$n\n"; select(undef, undef, undef, 0.1) }'
perl -e "$serve" &
perl -e "$send" &
(i=0; while true; do i=$((i + 1)); echo "$i"; sleep 0.1; done) | (while read -r n; do echo "$n" >/tmp/piped; done) &
trap 'kill 0; exit 0' TERM
wait
