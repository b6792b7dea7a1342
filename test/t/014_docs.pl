# 014_docs.pl — the docs' commands work as pasted. Every `aws` command in the
# fenced shell blocks of docs/*.md is run, with the blocks around it (the
# variables, here-documents and jq lines it depends on), by Debian's AWS CLI
# against the emulator (--endpoint-url): twice, in us-east-1 and in another
# region, each with fresh names. The commands the emulator cannot serve (IAM,
# EC2) are not sent; their JSON is parsed and checked instead. Every JSON
# document the docs give is parsed; the IAM policy is compared with the calls
# vtp makes, which this test derives from the C source (src/aws/s3.c, s3list.c,
# sqs.c, the request machinery in s3_request.c, and their callers), on the
# resources it makes them on; and the runners' policy (docs/runner.md) with
# the calls of the job engine and runner/ alone. Then a vtp
# node configured as docs/install.md says, on the queues and buckets the docs
# made, publishes the video the docs upload (its S3 notification is the one
# emulated step: the emulator sends none). And every reason code the code can
# set is in docs/troubleshooting.md.
use strict;
use warnings;
use lib 'test/perl';
use File::Temp qw(tempdir);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VtpTest;
use VtpSource;

my $AWS = -x '/usr/bin/aws' ? '/usr/bin/aws' : undef;
BAIL_OUT('the AWS CLI (/usr/bin/aws, Debian package awscli) is missing: run scripts/deps.sh') unless $AWS;
BAIL_OUT('jq is missing: run scripts/deps.sh') unless -x '/usr/bin/jq';

# Which commands are not sent to the emulator (it has no IAM and no EC2):
# their arguments are checked below instead.
my %NOT_EMULATED = (iam => 1, ec2 => 1);
# The placeholders the docs define, and what each run sets them to.
my @RUNS = (
	{ REGION => 'us-east-1', TEMP => 'docs-uploads-1', OUT => 'docs-videos-1', EVENTS => 'docs-events-1', TASKS => 'docs-tasks-1' },
	{ REGION => 'eu-west-1', TEMP => 'docs-uploads-2', OUT => 'docs-videos-2', EVENTS => 'docs-events-2', TASKS => 'docs-tasks-2' },
);
my $json = JSON::PP->new->relaxed(0);

# ---------------------------------------------------------------------------
# The docs: fenced blocks, and the aws commands in the shell ones.

sub fenced_blocks
{
	my ($file) = @_;
	my @blocks;
	my ($lang, @lines, $start);
	my $n = 0;
	for my $line (split /\n/, slurp_file($file), -1)
	{
		$n++;
		if (!defined $lang && $line =~ /^```(\S*)\s*$/) { $lang = $1; @lines = (); $start = $n; next; }
		if (defined $lang && $line =~ /^```\s*$/)
		{
			push @blocks, { file => $file, line => $start, lang => $lang, text => join("\n", @lines) . "\n" };
			undef $lang;
			next;
		}
		push @lines, $line if defined $lang;
	}
	return @blocks;
}

# The aws commands of a shell block, outside here-document bodies and comments,
# backslash-continued lines joined: "service operation".
sub aws_commands
{
	my ($text) = @_;
	my @cmds;
	my $heredoc;
	my $joined = $text =~ s/\\\n/ /gr;
	for my $line (split /\n/, $joined)
	{
		if (defined $heredoc) { undef $heredoc if $line =~ /^\Q$heredoc\E$/; next; }
		$heredoc = $1 if $line =~ /<<-?\s*'?(\w+)'?/;
		my $code = $line =~ s/(^|\s)#.*$//r;
		while ($code =~ /(?:^|[\s;&|(`]|\$\()aws\s+([a-z0-9-]+)\s+([a-z0-9-]+)/g)
		{
			push @cmds, "$1 $2";
		}
	}
	return @cmds;
}

my @docs = sort glob('docs/*.md');
# aws-setup.md first: the other docs use the variables it sets
@docs = ((grep { m{/aws-setup\.md$} } @docs), (grep { !m{/aws-setup\.md$} } @docs));
my (@shell, @jsonblocks, %static);
for my $f (@docs)
{
	for my $b (fenced_blocks($f))
	{
		push @jsonblocks, $b if $b->{lang} eq 'json';
		next unless $b->{lang} =~ /^(sh|bash|shell)$/;
		my @c = aws_commands($b->{text});
		next unless @c;
		$static{$_} //= "$b->{file}:$b->{line}" for @c;
		# a block with aws commands is run whole: it must not also change the machine
		if ($b->{text} =~ /^\s*(sudo|systemctl|apt-get|make|psql|pg_\w+|createdb)\b/m)
		{
			fail("$b->{file}:$b->{line}: keep aws commands in blocks without '$1' (the test runs such blocks whole)");
			next;
		}
		push @shell, $b;
	}
}
cmp_ok(scalar(keys %static), '>=', 10, 'the docs give ' . scalar(keys %static) . ' distinct aws commands, in ' . scalar(@shell) . ' shell blocks');

# ---------------------------------------------------------------------------
# Run them.

my $s = start_emulator();
my $emu = $s->{endpoint};

sub aws_direct
{
	my ($region, @args) = @_;
	my ($out, $err);
	IPC::Run::run([ $AWS, '--endpoint-url', $emu, '--region', $region, '--output', 'json', @args ], '>', \$out, '2>', \$err)
	  or die "aws @args: $err";
	return $out =~ /\S/ ? decode_json($out) : {};
}

my $clip = media('docs-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i',
	'sine=frequency=300:sample_rate=44100', '-t', '3', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p',
	'-c:a', 'aac', '-shortest');

my $prelude = <<'EOS';
set -euo pipefail
# every aws command of the docs goes through here: recorded, then sent to the
# emulator (or, for a service it does not have, only recorded)
aws() {
  local f rc=0
  f=$(mktemp "$VTP_CALLS/$(date +%s%N).XXXXXX")
  printf '%s\0' "$@" > "$f"
  case "$1" in
    iam|ec2) echo "(not sent to the emulator: aws $1 $2)" >&2 ;;
    *) "$VTP_AWS" --endpoint-url "$VTP_EMU" "$@" || rc=$? ;;
  esac
  echo "$rc" > "$f.rc"
  return "$rc"
}
EOS

my @runs_done;
for my $i (0 .. $#RUNS)
{
	my $r = $RUNS[$i];
	my $dir = tempdir("docs-run$i-XXXX", DIR => $PostgreSQL::Test::Utils::tmp_check);
	my $calls = "$dir/calls";
	mkdir $calls or die;
	system('cp', $clip, "$dir/clip.mp4") == 0 or die;
	my %seen_placeholder;
	my $script = $prelude;
	for my $b (@shell)
	{
		my $t = $b->{text};
		for my $k (sort keys %$r)
		{
			$seen_placeholder{$k} += ($t =~ s/(?<![\w\$])\Q$k\E=[^\s;]+/$k=$r->{$k}/g);
		}
		$script .= "\n# --- $b->{file}:$b->{line}\n$t";
	}
	$script .= "\ndeclare -p REGION ACCOUNT TEMP OUT EVENTS TASKS EVENTS_URL TASKS_URL EVENTS_ARN TASKS_ARN > \"\$VTP_VARS\"\n";
	is_deeply([ grep { ($seen_placeholder{$_} // 0) != 1 } sort keys %$r ], [],
		"run $i: the docs set each of " . join(', ', sort keys %$r) . ' once');
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run([ 'bash', '-c', $script ], '>', \$out, '2>', \$err,
		init => sub {
			chdir $dir or die;
			%ENV = (%ENV, VTP_CALLS => $calls, VTP_AWS => $AWS, VTP_EMU => $emu, VTP_VARS => "$dir/vars",
				AWS_PAGER => '', AWS_CONFIG_FILE => "$dir/no-config", AWS_SHARED_CREDENTIALS_FILE => "$dir/no-credentials",
				AWS_EC2_METADATA_DISABLED => 'true');
		});
	ok($ok, "run $i ($r->{REGION}): the docs' shell blocks ran to the end") or diag("stdout:\n$out\nstderr:\n$err");

	my @calls;
	for my $f (sort glob("$calls/*"))
	{
		next if $f =~ /\.rc$/;
		my @args = split /\0/, slurp_file($f);
		my $rc = -e "$f.rc" ? slurp_file("$f.rc") =~ s/\s+//gr : 'none';
		push @calls, { args => \@args, rc => $rc };
	}
	my @failed = map { "aws @{$_->{args}} (exit $_->{rc})" } grep { $_->{rc} ne '0' } @calls;
	is_deeply(\@failed, [], "run $i: every one of " . scalar(@calls) . ' aws calls exited 0') or diag($err);
	my %ran = map { ("$_->{args}[0] $_->{args}[1]" => 1) } grep { @{ $_->{args} } >= 2 } @calls;
	is_deeply([ map { "$_ ($static{$_})" } grep { !$ran{$_} } sort keys %static ], [], "run $i: every aws command of the docs ran");
	my @region_missing = map { "aws @{$_->{args}}" }
	  grep { !grep { $_ eq '--region' } @{ $_->{args} } } @calls;
	is_deeply(\@region_missing, [], "run $i: every aws command passes --region");

	# every JSON document given to a command, inline or as a file, parses
	my (@bad, %docs);
	for my $c (@calls)
	{
		my @a = @{ $c->{args} };
		for my $j (0 .. $#a)
		{
			my $v = $a[$j];
			my $src = "aws $a[0] $a[1] $a[$j - 1]";
			if ($v =~ m{^file://(.+)$}) { my $p = $1; $p = "$dir/$p" unless $p =~ m{^/}; $v = -e $p ? slurp_file($p) : "(missing file $p)"; }
			next unless $v =~ /^\s*[\[{]/ || $a[$j] =~ m{^file://};
			my $doc = eval { $json->decode($v) };
			if (!$doc) { push @bad, "$src: $@"; next; }
			push @{ $docs{"$a[0] $a[1] $a[$j - 1]"} }, $doc;
			# an IAM policy also by its name (vtp: the server's, vtp-runner: runners')
			push @{ $docs{"iam create-policy $a[$_ + 1]"} }, $doc
			  for grep { "$a[0] $a[1] $a[$j - 1]" eq 'iam create-policy --policy-document' && $a[$_] eq '--policy-name' } 0 .. $#a - 1;
			if (ref $doc eq 'HASH' && defined $doc->{Policy})
			{
				my $p = eval { $json->decode($doc->{Policy}) };
				$p ? push(@{ $docs{"$a[0] $a[1] Policy"} }, $p) : push(@bad, "$src: the Policy string: $@");
			}
		}
	}
	is_deeply(\@bad, [], "run $i: every JSON document given to a command parses");
	my %v;
	for (split /\n/, -e "$dir/vars" ? slurp_file("$dir/vars") : '') { $v{$1} = $2 if /^declare -\S* (\w+)="(.*)"$/; }
	push @runs_done, { %$r, dir => $dir, calls => \@calls, docs => \%docs, vars => \%v };

	# what the emulator now holds is the shape the docs describe
	for my $q ($r->{EVENTS}, $r->{TASKS})
	{
		my $url = aws_direct($r->{REGION}, 'sqs', 'get-queue-url', '--queue-name', $q)->{QueueUrl};
		my $a = aws_direct($r->{REGION}, 'sqs', 'get-queue-attributes', '--queue-url', $url, '--attribute-names', 'All')->{Attributes};
		my $rp = eval { decode_json($a->{RedrivePolicy} // '') } // {};
		ok(($rp->{deadLetterTargetArn} // '') =~ /:\Q$q\E-dlq$/ && ($rp->{maxReceiveCount} // 0) > 3,
			"run $i: $q has a dead-letter queue ($q-dlq), maxReceiveCount above vtp.max_attempts' default");
		if ($q eq $r->{EVENTS})
		{
			my $p = eval { decode_json($a->{Policy} // '') } // {};
			my @st = @{ $p->{Statement} // [] };
			ok(@st == 1 && ($st[0]{Principal}{Service} // '') eq 's3.amazonaws.com' && ($st[0]{Action} // '') eq 'sqs:SendMessage'
				  && ($st[0]{Condition}{ArnEquals}{'aws:SourceArn'} // '') eq "arn:aws:s3:::$r->{TEMP}"
				  && ($st[0]{Resource} // '') eq $a->{QueueArn},
				"run $i: the events queue's policy lets the temp bucket's S3 send to it, and nothing else");
		}
	}
	my $head = eval { aws_direct($r->{REGION}, 's3api', 'head-object', '--bucket', $r->{TEMP}, '--key', 'uploads/first/clip.mp4') };
	is($head && $head->{ContentLength}, -s $clip, "run $i: install.md's first video is in the temp bucket");
}

# ---------------------------------------------------------------------------
# What vtp calls, on which resources: derived from the C source.

# (the C readers strip_comments, c_functions and call_args: test/perl/VtpSource.pm)
my %wrap = map { c_functions($_) } qw(src/aws/s3_request.c src/aws/s3.c src/aws/s3list.c src/aws/sqs.c);

# the AWS operations each wrapper makes, itself and through the others (VtpSource's aws_ops)
my ($ops, @unmapped) = aws_ops(\%wrap);
is_deeply(\@unmapped, [], 'every S3 request of the client maps to an IAM action');
my %ops = %$ops;
ok(($ops{sqs_send}{'sqs:SendMessage'} // 0) && ($ops{s3_head}{'s3:GetObject'} // 0) && ($ops{s3_stream_begin}{'s3:PutObject'} // 0),
	'the derivation finds what it must (sqs_send sends, s3_head reads, a stream puts)');

# Where each call goes: bucket and queue expressions at the call sites.
my %ROLE = (vtp_temp_bucket => ['temp'], vtp_output_bucket => ['output'], vtp_events_queue_url => ['events'], vtp_tasks_queue_url => ['tasks']);
# Expressions the source cannot tell by itself (file:expression => roles), why in each:
my %HAND = (
	'src/job/transfer.c:j->bucket' => [ 'temp', 'sources' ],    # the job's source: vtp_enqueue takes the temp bucket or vtp.source_buckets
	# the job engine's settings, copied from the GUCs by bgworker/transcode.c's fill_settings(),
	# in vtp-runner from vtp_runner_settings() (runner/runner_settings.c)
	'src/job/transfer.c:j->h->set->output_bucket' => ['output'],     # vtp.output_bucket; and vtp.tasks_queue_url:
	(map { ("src/job/$_" => ['tasks']) } qw(job.c:j->h->set->tasks_queue_url job.c:h->set->tasks_queue_url heartbeat.c:s->tasks_queue_url)),
	'runner/runner_slot.c:queue' => ['tasks'],    # receive_and_run's copy of vtp.tasks_queue_url, read that way
	'bgworker/reconcile.c:r->bucket' => [ 'temp', 'output' ],    # the trash: vtp_delete and the reconciler trash only temp and output objects
	'bgworker/http.c:bucket' => ['temp'],                        # copy_settings() copies the temp bucket
	'bgworker/http.c:u->st.bucket' => ['temp'],                  # the upload's stream, begun on that bucket
	'src/pg/sql_enqueue.c:bucket' => [ 'temp', 'sources' ],              # vtp_enqueue's argument, checked by bucket_allowed()
	'src/pg/sql_ops.c:v.bucket' => [ 'temp', 'sources' ],            # vtp_retry: the video's source bucket
	'src/pg/sql_urls.c:rows[i].bucket' => ['output'],               # vtp_output_urls: vtp_renditions.bucket (catalog_renditions)
);
# Keys known to be under a vtp prefix (the rest: any key of the bucket).
my %KEYSCOPE = (
	'bgworker/http.c:u->key' => 'uploads/', 'src/pg/sql_urls.c:key' => 'uploads/',
	'src/job/transfer.c:r->key' => 'videos/', 'src/pg/sql_urls.c:rows[i].key' => 'videos/',
);

# the runner (runner/) links the job engine and the client: what it calls is a subset
my @callers = grep { !m{/(s3_request|s3|s3list|sqs|aws)\.c$} } (glob('src/*/*.c'), glob('bgworker/*.c'), glob('runner/*.c'));
my ($calls, $unresolved) = aws_calls(\%wrap, \%ops, \%ROLE, \%HAND, \%KEYSCOPE, @callers);
my (%need, %runner_need);
for my $c (@$calls)
{
	my ($act, $role, $scope, $file, $func, $w) = @$c;
	$need{"$act|$role|$scope"} = "$file ($func): $w";
	$runner_need{"$act|$role|$scope"} = "$file ($func): $w" if $file =~ m{^(src/job|runner)/};
}
is_deeply($unresolved, [], 'every bucket and queue vtp calls is known (else: add it to %HAND, saying why)');
my %vtp_actions = map { (split /\|/)[0] => 1 } keys %need;
diag('figure: vtp calls ' . join(', ', sort keys %vtp_actions));
note("vtp calls $_ (e.g. $need{$_})") for sort keys %need;
ok(!grep({ /^sqs:(SendMessage|ChangeMessageVisibility)\|events\|/ } keys %need),
	'vtp neither sends to the events queue nor changes the visibility of its messages');

# ---------------------------------------------------------------------------
# The IAM policy and the other documents, against that.

my $last = $runs_done[-1];
my %arn = (temp => "arn:aws:s3:::$last->{TEMP}", output => "arn:aws:s3:::$last->{OUT}");
for my $q (qw(EVENTS TASKS))
{
	my $url = aws_direct($last->{REGION}, 'sqs', 'get-queue-url', '--queue-name', $last->{$q})->{QueueUrl};
	$arn{ lc $q } = aws_direct($last->{REGION}, 'sqs', 'get-queue-attributes', '--queue-url', $url,
		'--attribute-names', 'QueueArn')->{Attributes}{QueueArn};
}
sub as_list { my ($v) = @_; return ref $v eq 'ARRAY' ? @$v : defined $v ? ($v) : (); }
sub glob_re { my ($g) = @_; my $r = quotemeta $g; $r =~ s/\\\*/.*/g; $r =~ s/\\\?/./g; return qr/^$r$/; }

# Two policies, by name: vtp's (the server, aws-setup.md) and vtp-runner's (runner.md)
my %POLICY = (vtp => \%need, 'vtp-runner' => \%runner_need);
my @unnamed = grep { ref $_ eq 'HASH' && $_->{Statement} && !grep { $_->{Principal} } as_list($_->{Statement}) }
  map { eval { $json->decode($_->{text}) } // () } @jsonblocks;
is(scalar(@unnamed), 0, 'every IAM policy of the docs goes to aws iam create-policy (its name says whose it is)');
for my $name (sort keys %POLICY)
{
	my $nd = $POLICY{$name};
	my @policies = @{ $last->{docs}{"iam create-policy $name"} // [] };
	is(scalar(@policies), 1, "the docs give one IAM policy named $name");
	for my $pol (@policies)
	{
		my (@extra, @grants);
		for my $st (as_list($pol->{Statement}))
		{
			next unless ($st->{Effect} // '') eq 'Allow';
			for my $act (as_list($st->{Action}))
			{
				for my $res (as_list($st->{Resource}))
				{
					push @grants, [ $act, $res ];
					# used by some call: same action, and the resource is one it is called on
					my $used = grep {
						my ($a, $role, $scope) = split /\|/;
						$a eq $act && defined $arn{$role}
						  && ($role !~ /^(temp|output)$/ || $act =~ /^s3:List/
							? $res eq $arn{$role}                   # a queue, or a bucket-level action: that ARN
							: index($res, "$arn{$role}/") == 0)     # an object-level action: keys of that bucket
					} keys %$nd;
					push @extra, "$st->{Sid}: $act on $res" unless $used;
				}
			}
		}
		is_deeply(\@extra, [], "the IAM policy $name grants only what it is for calls, where it calls it");
		my @missing;
		for my $n (sort keys %$nd)
		{
			my ($act, $role, $scope) = split /\|/, $n;
			next if $role eq 'sources';    # vtp.source_buckets is empty unless set: the docs say what to add
			my $bucket_level = $act =~ /^s3:List/;
			my $target = $role =~ /^(temp|output)$/ && !$bucket_level ? "$arn{$role}/${scope}SOME-KEY" : $arn{$role};
			my $ok = grep { $_->[0] eq $act && $target =~ glob_re($_->[1]) } @grants;
			push @missing, "$act on $target ($nd->{$n})" unless $ok;
		}
		is_deeply(\@missing, [], "the IAM policy $name grants every call it is for makes, on the resource it makes it on");
	}
}
my @trust = @{ $last->{docs}{'iam create-role --assume-role-policy-document'} // [] };
ok(@trust && !grep({ my $t = $_; grep { ($_->{Action} // '') ne 'sts:AssumeRole' || ($_->{Principal}{Service} // '') ne 'ec2.amazonaws.com' } as_list($t->{Statement}) } @trust),
	'the instance role trusts EC2 only, to assume it');
my @notif = @{ $last->{docs}{'s3api put-bucket-notification-configuration --notification-configuration'} // [] };
ok(@notif == 1 && (join(',', map { @{ $_->{Events} } } @{ $notif[0]{QueueConfigurations} }) eq 's3:ObjectCreated:*')
	  && $notif[0]{QueueConfigurations}[0]{QueueArn} eq $arn{events},
	'the notification announces object creation only, to the events queue');
my @jsonbad = map { "$_->{file}:$_->{line}" } grep { !eval { $json->decode($_->{text}); 1 } } @jsonblocks;
is_deeply(\@jsonbad, [], 'every ```json block of the docs (' . scalar(@jsonblocks) . ') parses');

# ---------------------------------------------------------------------------
# A vtp node configured by install.md, on what the docs made, publishes the
# video the docs uploaded.
{
	my ($conf) = map { $_->{text} =~ m{conf\.d/vtp\.conf\b.*?<<\s*'?EOF'?\n(.*?)^EOF$}ms ? $1 : () }
	  grep { $_->{file} =~ /install\.md$/ } map { fenced_blocks($_) } @docs;
	ok($conf, 'install.md writes conf.d/vtp.conf');
	my %v = %{ $last->{vars} };
	$conf =~ s/\$(\w+)/defined $v{$1} ? $v{$1} : "\$$1"/ge;
	unlike($conf, qr/\$\w/, 'every variable of vtp.conf is set by the docs');
	$conf =~ s/^vtp\.database\s*=.*$/vtp.database = 'postgres'/m;
	my $node = PostgreSQL::Test::Cluster->new('docs');
	$node->init;
	$node->append_conf('postgresql.conf', $conf . qq{
vtp.s3_endpoint = '$emu'
vtp.sqs_endpoint = '$emu'
vtp.s3_part_size = '5MB'
vtp.transcode_workers = 1
});
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION vtp');
	awscli('notify', $v{EVENTS_URL}, $v{TEMP}, 'uploads/first/clip.mp4');
	my $id = wait_id($node, 'uploads/first/clip.mp4', 60);
	ok($id, 'the upload of install.md is registered');
	is(wait_status($node, $id, 180, 'Published', 'Failed'), 'Published',
		"a node configured as install.md says ($v{REGION}) publishes it")
	  or diag($node->safe_psql('postgres', "SELECT status, error_code, error FROM vtp_videos"));
	$node->stop('fast');
}

# ---------------------------------------------------------------------------
# Every reason code the code can set is in troubleshooting.md.
{
	my %codes;
	for my $f (glob('bgworker/*.c'), glob('src/*/*.c'), glob('transcoder/*.c'))
	{
		my $t = strip_comments(slurp_file($f));
		for my $a (call_args($t, 'job_set_error')) { $codes{$_} = $f for ($a->[1] // '') =~ /"([a-z_]+)"/g; }
		for my $fn (qw(tc_report_error tc_fail_av)) { for my $a (call_args($t, $fn)) { $codes{$1} = $f if $a->[0] =~ /^"(\w+)"$/; } }
		# (the job engine's host->release(host, job, code, ...) has the code third too)
		for my $fn (qw(catalog_release catalog_fail release)) { for my $a (call_args($t, $fn)) { $codes{$1} = $f if ($a->[2] // '') =~ /^"(\w+)"$/; } }
		$codes{$1} = $f while $t =~ /error_code = '(\w+)'/g;
		if ($t =~ /known_codes\[\]\s*=\s*\{(.*?)\}/s) { $codes{$_} = $f for $1 =~ /"(\w+)"/g; }
	}
	# the helper's codes, written once for the helper and the reader
	my $proto = slurp_file('src/core/helper_protocol.h');
	$codes{$1} = 'src/core/helper_protocol.h' while $proto =~ /^#define VTP_HELPER_ERR_\w+ "(\w+)"/mg;
	my $ts = slurp_file('docs/troubleshooting.md');
	cmp_ok(scalar(keys %codes), '>=', 25, 'the code can set ' . scalar(keys %codes) . ' reason codes');
	is_deeply([ grep { $ts !~ /^\| `\Q$_\E` \|/m } sort keys %codes ], [], 'troubleshooting.md lists every one of them');
}

done_testing();
