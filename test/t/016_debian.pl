# 016_debian.pl — the Debian route of docs/install.md, on a real Debian
# cluster: pg_createcluster, started by pg_ctlcluster (which replaces the
# server's environment with /etc/postgresql/15/NAME/environment and leaves
# HOME unset), configured from install.md's own blocks. Two ways:
#   1. the keys in the environment file (its owner, group and mode as the
#      docs say): the server has no HOME, and a video is Published;
#   2. no key in the environment file, a credentials file in the cluster
#      owner's home directory from the password database: a video is
#      Published: the credential chain falls back to the passwd home
#      directory when HOME is unset, as the AWS SDKs do (before it did, this
#      failed with "HOME is unknown").
# The cluster is owned by a user made for the test (pg_createcluster -u), so
# that nothing of the postgres user's (its ~/.aws) is touched; the cluster
# and the user are removed in an END block, on failure too.
# Needs root (pg_createcluster); scripts/check.sh runs it as root, and the
# unprivileged TAP run skips it.
use strict;
use warnings;
use lib 'test/perl';
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VtpTest;

plan skip_all => 'needs root for pg_createcluster (scripts/check.sh runs this file as root)' if $> != 0;
plan skip_all => 'Debian\'s postgresql-common is not installed' unless -x '/usr/bin/pg_createcluster';

my $VERSION = 15;
my $name = "vtpdocs$$";
my $owner = "vtpdocs$$";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $base = tempdir('vtp-debian-XXXX', DIR => '/tmp', CLEANUP => 0);
chmod 0755, $base;
my $home = "$base/home";
my ($created_user, $created_cluster);

sub run_ok
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	die "@cmd: $err$out" unless $ok;
	return $out;
}

END
{
	my $rc = $?;
	if ($created_cluster)
	{
		system('pg_dropcluster', '--stop', $VERSION, $name);
		system('rm', '-rf', "/etc/postgresql/$VERSION/$name") if -d "/etc/postgresql/$VERSION/$name";
	}
	system('userdel', $owner) if $created_user;
	system('rm', '-rf', $base) if $base && -d $base;
	$? = $rc;
}

# --- the blocks of install.md this test follows
my $install = slurp_file('docs/install.md');
my @blocks = $install =~ /^```sh\n(.*?)^```$/msg;
my ($conf) = map { m{conf\.d/vtp\.conf\b.*?<<\s*'?EOF'?\n(.*?)^EOF$}ms ? $1 : () } @blocks;
my ($envblock) = grep { m{/etc/postgresql/15/main/environment} && /<<\s*'?EOF/ } @blocks;
my ($credblock) = grep { m{\.aws/credentials} && /<<\s*'?EOF/ } @blocks;
ok($conf && $envblock && $credblock, 'install.md has the vtp.conf, environment-file and credentials-file blocks');
my ($env_text) = $envblock =~ /<<\s*'?EOF'?\n(.*?)^EOF$/ms;
my ($env_o, $env_g, $env_m) = $envblock =~ m{install -o (\S+) -g (\S+) -m (\d+) /dev/null /etc/postgresql/15/main/environment};
ok(defined $env_m, "install.md gives the environment file an owner, group and mode ($env_o:$env_g $env_m)");
like($env_text, qr/^AWS_ACCESS_KEY_ID = '[^']+'$/m, 'the environment file names the access key, quoted');

# --- the S3/SQS emulator, and a cluster owner of our own
my $s = start_emulator();    # also puts the emulator's keys in this process's environment: pg_ctlcluster drops them
run_ok('useradd', '--system', '--user-group', '--home-dir', $home, '--create-home', '--shell', '/usr/sbin/nologin', $owner);
$created_user = 1;
my @pw = getpwnam($owner);
is($pw[7], $home, "the cluster owner's home directory in the password database is $home");
my $group = getgrgid($pw[3]);

run_ok('pg_createcluster', '-u', $owner, '-d', "$base/data", '-s', "$base/sock", '-l', "$base/postgresql.log",
	'-p', $port, '--start-conf', 'manual', $VERSION, $name);
$created_cluster = 1;
my $etc = "/etc/postgresql/$VERSION/$name";
ok(-d "$etc/conf.d", "pg_createcluster made $etc with conf.d");

# vtp's settings as install.md writes them, pointed at the emulator
my %v = (REGION => 'us-east-1', EVENTS_URL => $s->{events_queue_url}, TASKS_URL => $s->{tasks_queue_url},
	TEMP => 'temp-video-bucket', OUT => 'output-video-bucket');
$conf =~ s{\$(\w+)}{$v{$1} // die "install.md uses \$$1 in vtp.conf"}ge;
$conf =~ s/^vtp\.database\s*=.*$/vtp.database = 'postgres'/m;
open(my $fh, '>', "$etc/conf.d/vtp.conf") or die;
print $fh $conf, qq{vtp.s3_endpoint = '$s->{endpoint}'
vtp.sqs_endpoint = '$s->{endpoint}'
vtp.s3_part_size = '5MB'
vtp.transcode_workers = 1
max_connections = 20
};
close $fh;
open($fh, '>', "$etc/pg_hba.conf") or die;
print $fh "local all all trust\n";
close $fh;

sub write_environment
{
	my ($text) = @_;
	my $f = "$etc/environment";
	unlink $f;
	# as install.md: the owner it names, the group of the cluster owner (postgres on a stock install), the mode
	run_ok('install', '-o', $env_o, '-g', ($env_g eq 'postgres' ? $group : $env_g), '-m', $env_m, '/dev/null', $f);
	open(my $e, '>>', $f) or die;
	print $e $text;
	close $e;
}

sub psql
{
	my ($sql) = @_;
	my $out = run_ok('psql', '-X', '-At', '-h', "$base/sock", '-p', $port, '-U', $owner, '-d', 'postgres', '-c', $sql);
	chomp $out;
	return $out;
}

sub postmaster_environ
{
	my ($pid) = split /\n/, slurp_file("$base/data/postmaster.pid");
	my %env = map { /^([^=]*)=(.*)$/s ? ($1 => $2) : () } split /\0/, slurp_file("/proc/$pid/environ");
	return \%env;
}

sub start_and_publish
{
	my ($label, $key) = @_;
	run_ok('pg_ctlcluster', $VERSION, $name, 'start');
	my $env = postmaster_environ();
	ok(!exists $env->{HOME}, "$label: the postmaster started by pg_ctlcluster has no HOME");
	diag("figure: $label: the postmaster's environment has " . join(' ', sort keys %$env));
	psql('CREATE EXTENSION IF NOT EXISTS vtp');
	my $file = media('debian-clip.mp4', '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-t', '2',
		'-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p');
	awscli('put', 'temp-video-bucket', $key, $file);
	awscli('notify', $s->{events_queue_url}, 'temp-video-bucket', $key);
	my $t0 = time();
	my ($st, $why) = ('', '');
	while (time() - $t0 < 150)
	{
		$st = psql("SELECT status FROM vtp_videos WHERE key = '$key'");
		last if $st eq 'Published' || $st eq 'Failed';
		$why = psql("SELECT string_agg(query, '; ') FROM pg_stat_activity WHERE backend_type LIKE 'vtp %' AND query LIKE '%credentials%'");
		last if $why && time() - $t0 > 20;    # still without credentials: it will not come
		sleep 0.5;
	}
	my $took = time() - $t0;
	diag(sprintf('figure: %s: notification to %s in %.1f s', $label, $st || 'nothing', $took));
	# a slow one: what the workers said meanwhile
	diag(join('', grep { /vtp/ } split /^/m, slurp_file("$base/postgresql.log"))) if $took > 20;
	return ($env, $st, $why);
}

# --- 1. the keys in the environment file
my $text = $env_text;
$text =~ s/^(AWS_ACCESS_KEY_ID\s*=\s*)'[^']*'/$1'$VtpTest::ACCESS_KEY'/m;
$text =~ s/^(AWS_SECRET_ACCESS_KEY\s*=\s*)'[^']*'/$1'$VtpTest::SECRET_KEY'/m;
write_environment($text);
{
	my ($env, $st, $why) = start_and_publish('environment file', 'uploads/debian1/clip.mp4');
	is($env->{AWS_ACCESS_KEY_ID}, $VtpTest::ACCESS_KEY, 'environment file: the postmaster has the key from it');
	is($st, 'Published', 'environment file: a video is Published') or diag("workers: $why\n" . slurp_file("$base/postgresql.log"));
	run_ok('pg_ctlcluster', $VERSION, $name, 'stop', '-m', 'fast');
}

# --- 2. no key in the environment file; the credentials file in the owner's passwd home
{
	my $b = $credblock;
	$b =~ s{/var/lib/postgresql}{$home}g;
	my ($dmode) = $b =~ /install -d -o \S+ -g \S+ -m (\d+) \S+\/\.aws\n/;
	my ($fmode) = $b =~ m{install -o \S+ -g \S+ -m (\d+) /dev/null \S+/\.aws/credentials};
	my ($cred) = $b =~ /<<\s*'?EOF'?\n(.*?)^EOF$/ms;
	ok($dmode && $fmode && $cred, "install.md's credentials file: directory $dmode, file $fmode");
	$cred =~ s/^(aws_access_key_id\s*=\s*)\S+/$1$VtpTest::ACCESS_KEY/m;
	$cred =~ s/^(aws_secret_access_key\s*=\s*)\S+/$1$VtpTest::SECRET_KEY/m;
	run_ok('install', '-d', '-o', $owner, '-g', $group, '-m', $dmode, "$home/.aws");
	run_ok('install', '-o', $owner, '-g', $group, '-m', $fmode, '/dev/null', "$home/.aws/credentials");
	open(my $c, '>>', "$home/.aws/credentials") or die;
	print $c $cred;
	close $c;
	write_environment("# no keys here: they are in ~/.aws/credentials\n");
	my ($env, $st, $why) = start_and_publish('credentials file', 'uploads/debian2/clip.mp4');
	ok(!exists $env->{AWS_ACCESS_KEY_ID}, 'credentials file: the postmaster has no key in its environment');
	is($st, 'Published', "credentials file: a video is Published (the file found in $home, from the password database)")
	  or diag("workers: $why");
	run_ok('pg_ctlcluster', $VERSION, $name, 'stop', '-m', 'fast');
}

done_testing();
