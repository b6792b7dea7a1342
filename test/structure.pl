#!/usr/bin/perl
# structure.pl — the shape of the tree, checked (issue 12's "done when"):
#   1. no #include "../…": rooms are reached by -I (Makefile's VTP_INC)
#   2. no file over 500 lines: C sources, headers and C tests, and the test
#      and build scripts (Perl, JavaScript, shell); SQL scripts and docs aside
#   3. no function over 80 lines, other than the table-like GUC definitions
#      listed in %LONG_OK below with why
#   4. no two files that call each other (from nm: a symbol one object
#      leaves undefined and another defines is a call between files)
#   5. the job engine (src/job), the pure parts (src/core) and vtp-runner
#      (runner/) include no PostgreSQL server header (the runner: libpq-fe.h)
#   6. each room calls only itself and the rooms before it in
#      core → aws → job → pg → bgworker (the helper, transcoder/, only core;
#      vtp-runner, runner/, only core, aws and job),
#      as docs/source-tree.md draws them (src/pg/vtp.c, the module's
#      _PG_init, calls every subsystem's init)
#   7. make prints no warning (its own, such as an overridden recipe)
# Run from the repository root after `make` (it reads the objects PGXS built
# and compiles the helper's and the runner's sources on their own to a
# scratch directory).
# Prints every finding, exits 1 if there is one.
use strict;
use warnings;
use File::Temp qw(tempdir);

my $MAX_FILE = 500;
my $MAX_FUNC = 80;
# function => why it may be long (only tables of definitions)
my %LONG_OK = map { $_ => 1 } qw();

my @bad;
my @c_files = grep { -f } map { glob($_) } qw(src/*/*.c src/*/*.h bgworker/*.c bgworker/*.h
  transcoder/*.c transcoder/*.h runner/*.c runner/*.h test/*/*.c test/*/*.h);

my @script_files = grep { -f } map { glob($_) } qw(test/t/*.pl test/perl/*.pm test/*.pl test/emulator/*.mjs
  scripts/*.sh scripts/*/*.sh .ci/run Makefile);
for my $f (@script_files)
{
	open(my $fh, '<', $f) or die "$f: $!";
	my $n = () = <$fh>;
	close $fh;
	push @bad, sprintf("%s has %d lines (at most %d)", $f, $n, $MAX_FILE) if $n > $MAX_FILE;
}

# 1, 2, 5
for my $f (@c_files)
{
	open(my $fh, '<', $f) or die "$f: $!";
	my @lines = <$fh>;
	close $fh;
	push @bad, sprintf("%s has %d lines (at most %d)", $f, scalar @lines, $MAX_FILE) if @lines > $MAX_FILE;
	for my $i (0 .. $#lines)
	{
		push @bad, "$f:" . ($i + 1) . ": includes by ../"
		  if $lines[$i] =~ /^\s*#\s*include\s+"\.\.\//;
		push @bad, "$f:" . ($i + 1) . ": a PostgreSQL header in a room that must not have one"
		  if $f =~ m{^(src/job|src/core|runner)/}
		  && $lines[$i] =~ m{^\s*#\s*include\s+"(postgres|fmgr|miscadmin|executor/|utils/|storage/|postmaster/|access/|catalog/|lib/|nodes/|commands/|tcop/|funcapi|pgstat)};
	}
	# 3: PostgreSQL style: the name at column 0, "{" and "}" alone at column 0
	my ($name, $start);
	for my $i (0 .. $#lines)
	{
		my $l = $lines[$i];
		if ($l =~ /^([A-Za-z_]\w*)\s*\(/ && $i + 1 <= $#lines)
		{
			$name = $1;
		}
		elsif ($l =~ /^\{\s*$/ && defined $name)
		{
			$start = $i;
		}
		elsif ($l =~ /^\}/ && defined $start)
		{
			my $n = $i - $start - 1;
			push @bad, "$f: function $name has $n lines (at most $MAX_FUNC)"
			  if $n > $MAX_FUNC && !$LONG_OK{$name};
			undef $start;
			undef $name;
		}
	}
}

# 4: calls between files, from the objects
my $tmp = tempdir(CLEANUP => 1);
my @objs = grep { -f } map { glob($_) } qw(src/*/*.o bgworker/*.o);
my $avflags = `pkg-config --cflags libavformat libavcodec libavfilter libavutil 2>/dev/null` // '';
my $pqinc = `pg_config --includedir 2>/dev/null` // '';
my $curlflags = `pkg-config --cflags libcurl 2>/dev/null` // '';
chomp($avflags, $pqinc, $curlflags);
# the programs' own sources, compiled on their own: room => its flags
my %PROGRAM_FLAGS = (transcoder => "-Isrc/core -Itranscoder $avflags",
  runner => "-Isrc/core -Isrc/aws -Isrc/job -Irunner -I$pqinc $curlflags -DVTP_VERSION='\"0\"'");
for my $room (sort keys %PROGRAM_FLAGS)
{
	for my $c (glob("$room/*.c"))
	{
		(my $o = $c) =~ s{^$room/(.*)\.c$}{$tmp/$room:$1.o};
		system("cc -c -O0 $PROGRAM_FLAGS{$room} -o '$o' '$c'") == 0
		  or push @bad, "could not compile $c on its own";
		push @objs, $o;
	}
}
my (%defined_in, %undef);
for my $o (@objs)
{
	(my $src = $o) =~ s{^\Q$tmp\E/(\w+):(.*)\.o$}{$1/$2.c};
	$src =~ s/\.o$/.c/;
	for (`nm '$o'`)
	{
		if (/^\S+\s+[TDBR]\s+(\S+)$/) { $defined_in{$1} = $src; }
		elsif (/^\s+U\s+(\S+)$/) { push @{ $undef{$src} }, $1; }
	}
}
my %calls;
for my $src (keys %undef)
{
	for my $sym (@{ $undef{$src} })
	{
		my $to = $defined_in{$sym} // next;
		next if $to eq $src;
		$calls{$src}{$to}{$sym} = 1;
	}
}
for my $a (sort keys %calls)
{
	for my $b (sort keys %{ $calls{$a} })
	{
		next unless $a lt $b && $calls{$b}{$a};
		push @bad, sprintf("%s and %s call each other (%s; %s)", $a, $b,
			join(', ', sort keys %{ $calls{$a}{$b} }), join(', ', sort keys %{ $calls{$b}{$a} }));
	}
}
# 6: the rooms' order
my %RANK = (core => 0, aws => 1, job => 2, pg => 3, bgworker => 4);
sub room { my ($f) = @_; return $f =~ m{^src/(\w+)/} ? $1 : $f =~ m{^(\w+)/} ? $1 : ''; }
for my $a (sort keys %calls)
{
	for my $b (sort keys %{ $calls{$a} })
	{
		my ($ra, $rb) = (room($a), room($b));
		# src/pg/vtp.c is the module itself: _PG_init calls every subsystem's init
		next if $ra eq $rb || $a eq 'src/pg/vtp.c';
		my $ok = $ra eq 'transcoder' ? $rb eq 'core'
		  : $ra eq 'runner' ? $rb =~ /^(core|aws|job)$/
		  : defined $RANK{$ra} && defined $RANK{$rb} && $RANK{$rb} < $RANK{$ra};
		push @bad, sprintf("%s (room %s) calls %s (room %s): %s", $a, $ra, $b, $rb,
			join(', ', sort keys %{ $calls{$a}{$b} })) unless $ok;
	}
}
push @bad, "no objects found: run make first" unless grep { /\.o$/ && !/^\Q$tmp\E/ } @objs;

# 7: make's own warnings (a dry run of the whole build)
my @warn = grep { /warning/i } `make -n -B all 2>&1 >/dev/null`;
push @bad, map { "make: " . s/\s+$//r } @warn;

if (@bad)
{
	print "structure: $_\n" for @bad;
	printf "structure: %d finding(s)\n", scalar @bad;
	exit 1;
}
printf "structure: %d C files, %d scripts, %d objects: no ../ include, none over %d lines, no function over %d, no two files calling each other, rooms in order, no make warning\n",
  scalar @c_files, scalar @script_files, scalar @objs, $MAX_FILE, $MAX_FUNC;
