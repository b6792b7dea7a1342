# VtpSource.pm — just enough of a C reader for tests that derive facts from
# vtp's own source (test/t/014_docs.pl derives the IAM actions vtp needs and
# the buckets it calls them on): functions in PostgreSQL style (name at
# column 0, "{" and "}" alone at column 0), their parameters and bodies, and
# the arguments of each call of a function.
package VtpSource;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(strip_comments c_functions call_args);

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

1;
