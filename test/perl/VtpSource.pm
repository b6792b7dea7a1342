# VtpSource.pm — just enough of a C reader for tests that derive facts from
# vtp's own source (test/t/014_docs.pl derives the IAM actions vtp needs and
# the buckets it calls them on): functions in PostgreSQL style (name at
# column 0, "{" and "}" alone at column 0), their parameters and bodies, and
# the arguments of each call of a function; and, on top of that, the AWS
# operations each wrapper of the client makes (aws_ops) and every call of
# a wrapper in the rest of the tree, with the bucket or queue it goes to
# (aws_calls).
package VtpSource;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(strip_comments c_functions call_args aws_ops aws_calls);

sub _slurp
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "$file: $!";
	local $/;
	my $t = <$fh>;
	close $fh;
	return $t;
}

# C comments out, string and character literals kept whole (a "//" in a URL is no comment)
sub strip_comments
{
	my ($t) = @_;
	$t =~ s{("(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|/\*.*?\*/|//[^\n]*}{defined $1 ? $1 : ' '}gse;
	return $t;
}

# name => {params => [names], body => text}
sub c_functions
{
	my ($file) = @_;
	my %f;
	my $src = strip_comments(_slurp($file));
	while ($src =~ /^(\w+)\(([^;{]*?)\)\s*\n\{\n(.*?)\n\}/msg)
	{
		my ($name, $params, $body) = ($1, $2, $3);
		my @p = map { /(\w+)\s*(?:\[\])?\s*$/ ? $1 : '' } split /,/, $params;
		$f{$name} = { params => \@p, ptext => $params, body => $body, file => $file };
	}
	return %f;
}

# The arguments of each call of $name in $text: list of arrayrefs.
sub call_args
{
	my ($text, $name) = @_;
	my @out;
	while ($text =~ /\b\Q$name\E\s*\(/g)
	{
		my $pos = pos($text);
		my ($depth, $cur, @args) = (1, '');
		while ($pos < length $text && $depth > 0)
		{
			my $ch = substr($text, $pos++, 1);
			if ($ch eq '"' || $ch eq "'")
			{
				# a string or character literal, whole (its parentheses and commas do not count)
				my $lit = $ch;
				while ($pos < length $text)
				{
					my $c2 = substr($text, $pos++, 1);
					$lit .= $c2;
					if ($c2 eq '\\') { $lit .= substr($text, $pos++, 1); next; }
					last if $c2 eq $ch;
				}
				$cur .= $lit;
				next;
			}
			$depth++ if $ch eq '(';
			$depth-- if $ch eq ')';
			if ($depth == 1 && $ch eq ',') { push @args, $cur; $cur = ''; next; }
			$cur .= $ch if $depth > 0;
		}
		push @args, $cur;
		s/^\s+|\s+$//g for @args;
		push @out, \@args;
	}
	return @out;
}

# The IAM action of one S3 request a wrapper makes (undef: none this reader knows)
sub _s3_action
{
	my ($m, $obj, $q) = @_;
	return ($m eq 'HEAD' || $m eq 'GET') && $obj && $q eq 'NULL' ? 's3:GetObject'
	  : $m eq 'PUT' && $obj && ($q eq 'NULL' || $q =~ /^partNumber=/) ? 's3:PutObject'
	  : $m eq 'POST' && $obj && $q =~ /^(uploads|uploadId)=/ ? 's3:PutObject'
	  : $m eq 'DELETE' && $obj && $q eq 'NULL' ? 's3:DeleteObject'
	  : $m eq 'DELETE' && $obj && $q =~ /^uploadId=/ ? 's3:AbortMultipartUpload'
	  : $m eq 'GET' && !$obj && $q =~ /^list-type=2/ ? 's3:ListBucket'
	  : $m eq 'GET' && !$obj && $q =~ /^uploads=/ ? 's3:ListBucketMultipartUploads'
	  : undef;
}

# The AWS operations each wrapper of %$wrap (the client's functions) makes,
# itself and through the wrappers it calls ("presign": it signs a URL):
# (\%ops, the S3 requests it could not map to an IAM action).
sub aws_ops
{
	my ($wrap) = @_;
	my (%ops, @unmapped);
	for my $n (sort keys %$wrap)
	{
		my $f = $wrap->{$n};
		for my $a (call_args($f->{body}, 'sqs_call'), call_args($f->{body}, 'simple_call'))
		{
			$ops{$n}{"sqs:$1"} = 1 if $a->[1] =~ /^"(\w+)"$/;
		}
		for my $fn (qw(s3_call s3_call_if_match s3_cleanup_call))
		{
			next if $n =~ /^s3_(call|call_if_match|cleanup_call)$/;    # the primitives pass their caller's method on
			for my $a (call_args($f->{body}, $fn))
			{
				my ($m, $key, $q) = ($a->[1], $a->[3], $a->[4] // 'NULL');
				$m =~ s/"//g;
				if ($q =~ /^\w+\.data$/)
				{
					my ($v) = $q =~ /^(\w+)/;
					$q = $f->{body} =~ /vbuf_(?:puts|printf)\(&\Q$v\E,\s*"([^"]*)"/ ? $1 : '?';
				}
				$q =~ s/"//g;
				my $act = _s3_action($m, $key ne '""', $q);
				if (defined $act) { $ops{$n}{$act} = 1; }
				else { push @unmapped, "$f->{file} $n: $m key=$key query=$q"; }
			}
		}
		$ops{$n}{presign} = 1 if $f->{body} =~ /\bsigv4_presign\(/;
	}
	# ... and through the wrappers it calls; a stream's operations belong to s3_stream_begin
	for my $round (1 .. 5)
	{
		for my $n (keys %$wrap)
		{
			for my $m (keys %$wrap)
			{
				next if $m eq $n || $wrap->{$n}{body} !~ /\b\Q$m\E\s*\(/;
				$ops{$n}{$_} = 1 for keys %{ $ops{$m} // {} };
			}
			if ($wrap->{$n}{ptext} =~ /s3_stream\s*\*/)
			{
				$ops{s3_stream_begin}{$_} = 1 for keys %{ $ops{$n} // {} };
			}
		}
	}
	return (\%ops, @unmapped);
}

# Every call of a wrapper in @callers (files), with the bucket or queue it
# goes to: $role maps expressions to roles (temp, output, events, tasks),
# $hand "file:expression" to roles, $keyscope "file:expression" to a key
# prefix; a function's parameter is followed to its callers' arguments.
# Returns ([[action, role, key prefix, file, function, wrapper], ...], [unresolved]).
sub aws_calls
{
	my ($wrap, $ops, $role, $hand, $keyscope, @callers) = @_;
	my %callfuncs = map { my $f = $_; my %h = c_functions($f); map { ("$f:$_" => $h{$_}) } keys %h } @callers;
	my (@calls, @unresolved);
	my $resolve;
	$resolve = sub {
		my ($file, $func, $expr, $depth) = @_;
		return @{ $role->{$expr} } if $role->{$expr};
		return @{ $hand->{"$file:$expr"} } if $hand->{"$file:$expr"};
		my $fn = $callfuncs{"$file:$func"};
		if ($fn && $depth < 4 && (my ($idx) = grep { $fn->{params}[$_] eq $expr } 0 .. $#{ $fn->{params} }))
		{
			my @r;
			for my $k (sort keys %callfuncs)
			{
				my ($cf, $cfn) = split /:/, $k, 2;
				push @r, $resolve->($cf, $cfn, $_->[$idx], $depth + 1) for call_args($callfuncs{$k}{body}, $func);
			}
			return @r if @r;
		}
		push @unresolved, "$file ($func): $expr";
		return ();
	};
	for my $k (sort keys %callfuncs)
	{
		my ($file, $func) = split /:/, $k, 2;
		for my $w (sort keys %$ops)
		{
			my @p = @{ $wrap->{$w}{params} };
			my ($bi) = grep { $p[$_] =~ /^(bucket|queue_url)$/ } 0 .. $#p;
			next unless defined $bi;
			my ($ki) = grep { $p[$_] eq 'key' } 0 .. $#p;
			my ($mi) = grep { $p[$_] eq 'method' } 0 .. $#p;
			for my $a (call_args($callfuncs{$k}{body}, $w))
			{
				my @acts = grep { $_ ne 'presign' } keys %{ $ops->{$w} };
				if ($ops->{$w}{presign})
				{
					my $m = defined $mi ? $a->[$mi] : '';
					push @acts, $m eq '"PUT"' ? 's3:PutObject' : $m eq '"GET"' ? 's3:GetObject' : ();
					push @unresolved, "$file ($func): presigned method $m" unless $m =~ /^"(PUT|GET)"$/;
				}
				my $scope = defined $ki ? ($keyscope->{"$file:$a->[$ki]"} // '') : '';
				for my $r ($resolve->($file, $func, $a->[$bi], 0))
				{
					push @calls, [ $_, $r, $scope, $file, $func, $w ] for sort @acts;
				}
			}
		}
	}
	undef $resolve;
	return (\@calls, \@unresolved);
}

1;
