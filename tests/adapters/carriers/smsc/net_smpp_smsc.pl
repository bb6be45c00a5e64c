#!/usr/bin/perl
# An SMSC built with Net::SMPP in server mode, for the SMPP carrier's tests.
#
# Usage: net_smpp_smsc.pl SYSTEM_ID PASSWORD
# Listens on an ephemeral port of 127.0.0.1 and prints "LISTENING <port>"; accepts one
# ESME, answers its bind (ESME_RBINDFAIL for other credentials), sends the deliver_sm and
# data_sm PDUs below, prints "RESP <sequence> <command> <status>" for each answer, then
# unbinds and prints "UNBOUND". Every line is flushed at once.
use strict;
use warnings;
use Encode qw(encode);
use Net::SMPP;

$| = 1;
alarm 60;    # never outlive a test run that went wrong

my ($system_id, $password) = @ARGV;
my $listener = Net::SMPP->new_listen('127.0.0.1', port => 0, smpp_version => 0x34, async => 1)
    or die "cannot listen: $!";
print "LISTENING ", $listener->sockport, "\n";
my $smpp = $listener->accept or die "accept failed: $!";

my $bind = $smpp->read_pdu or die "no bind";
my %bind_resp = (
    0x00000001 => 'bind_receiver_resp',
    0x00000002 => 'bind_transmitter_resp',
    0x00000009 => 'bind_transceiver_resp',
);
my $answer = $bind_resp{$bind->{cmd}} or die "not a bind: $bind->{cmd}";
my $ok = $bind->{system_id} eq $system_id && $bind->{password} eq $password;
$smpp->$answer(seq => $bind->{seq}, status => ($ok ? 0 : 0x0D), system_id => 'NETSMPP');
print "BIND $bind->{system_id} ", ($ok ? 0 : 0x0D), "\n";
exit 0 unless $ok;

my %from = (
    source_addr_ton => 1, source_addr_npi => 1, source_addr => '447700900123',
    dest_addr_ton   => 1, dest_addr_npi   => 1, destination_addr => '447700900001',
);
my $long = 'Part one of a message split by Net::SMPP, ';
my $tail = 'and part two, which comes first. Code 604218';
my @sent;

push @sent, $smpp->deliver_sm(%from, data_coding => 0, short_message => 'Your code is 482913');
push @sent, $smpp->deliver_sm(
    %from, data_coding => 8, short_message => encode('UTF-16BE', "\x{41a}\x{43e}\x{434} \x{1F510} 5521"));
# A UDH-concatenated message, second part first.
push @sent, $smpp->deliver_sm(%from, esm_class => 0x40, short_message => pack('C6', 5, 0, 3, 42, 2, 2) . $tail);
push @sent, $smpp->deliver_sm(%from, esm_class => 0x40, short_message => pack('C6', 5, 0, 3, 42, 2, 1) . $long);
# The same text with SAR TLVs, second part first.
for my $seq (2, 1) {
    push @sent, $smpp->deliver_sm(
        %from, short_message => ($seq == 1 ? 'SAR ' . $long : $tail),
        sar_msg_ref_num => pack('n', 700), sar_total_segments => pack('C', 2),
        sar_segment_seqnum => pack('C', $seq));
}
push @sent, $smpp->deliver_sm(%from, short_message => '', message_payload => 'In message_payload: ' . $long x 3);
push @sent, $smpp->data_sm(%from, message_payload => 'Through data_sm');
push @sent, $smpp->deliver_sm(
    %from, esm_class => 0x04,
    short_message => 'id:0059113978 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:',
    receipted_message_id => "38601fa\0", message_state => pack('C', 2));

my %names = (0x80000005 => 'deliver_sm_resp', 0x80000103 => 'data_sm_resp');
my $answered = 0;
while ($answered < @sent) {
    my $pdu = $smpp->read_pdu or die "connection lost after $answered answers";
    if ($names{$pdu->{cmd}}) {
        print "RESP $pdu->{seq} $names{$pdu->{cmd}} $pdu->{status}\n";
        $answered++;
    } elsif ($pdu->{cmd} == 0x00000015) {
        $smpp->enquire_link_resp(seq => $pdu->{seq});
    }
}
my $unbind = $smpp->unbind();
while (my $pdu = $smpp->read_pdu) {
    if ($pdu->{cmd} == 0x80000006 && $pdu->{seq} == $unbind) {
        print "UNBOUND\n";
        last;
    }
}
exit 0;
