# fish completion for scow-sync and its legacy names. The option lists mirror
# `scow-sync __options CMD`; tests/integration/completions.sh checks them.

# Print the command being completed (start, run, query, terminate, resume,
# status, prune, log, config, help, version), or "none" while the first word
# after scow-sync is still open.
function __scow_sync_command
    set -l words (commandline -opc)
    switch (string replace -r '.*/' '' -- $words[1])
        case scow-sync-start
            echo start
            return
        case scow-sync-query
            echo query
            return
        case scow-sync-terminate
            echo terminate
            return
    end
    if test (count $words) -lt 2
        echo none
    else if string match -q -- '-*' $words[2]
        echo run # scow-sync -a HOST ... is run
    else
        echo $words[2]
    end
end

# Succeed when the command being completed is one of the arguments.
function __scow_sync_is
    contains -- (__scow_sync_command) $argv
end

for prog in scow-sync scow-sync-start scow-sync-query scow-sync-terminate
    complete -c $prog -f

    # Commands, for scow-sync itself.
    set -l none '__scow_sync_is none'
    complete -c $prog -n $none -a start -d 'start a transfer in the background'
    complete -c $prog -n $none -a run -d 'run a transfer in the foreground'
    complete -c $prog -n $none -a watch -d 'keep a directory in sync until stopped'
    complete -c $prog -n $none -a query -d 'show the files being moved, as JSON'
    complete -c $prog -n $none -a terminate -d 'stop a running transfer'
    complete -c $prog -n $none -a resume -d 'continue an interrupted, failed or stopped transfer'
    complete -c $prog -n $none -a verify -d "compare a transfer's destination by content, and repair it"
    complete -c $prog -n $none -a limit -d "change a transfer's --bwlimit while it runs"
    complete -c $prog -n $none -a status -d 'show transfers as a table'
    complete -c $prog -n $none -a prune -d 'remove old transfers from the history'
    complete -c $prog -n $none -a log -d "show one transfer's log lines"
    complete -c $prog -n $none -a config -d 'show the settings in effect and where they come from'
    complete -c $prog -n $none -a help -d 'show help for a command'
    complete -c $prog -n $none -a version -d 'show the version'
    complete -c $prog -n '__scow_sync_is help' -a 'start run watch query terminate resume verify limit status prune log config'

    # start and run (and scow-sync with an option first, which is run).
    set -l xfer '__scow_sync_is none start run watch'
    complete -c $prog -n $xfer -s d -l destination -x -d 'remote directory (created if missing)'
    complete -c $prog -n $xfer -s m -l max-depth -x -d 'move entries above this depth separately (default 2)'
    complete -c $prog -n $xfer -s p -l port -x -d 'ssh port (default 22)'
    complete -c $prog -n $xfer -s k -l sshkey-path -r -F -d 'private key (default ~/scow/.scow-sync-ssh/id_rsa)'
    complete -c $prog -n $xfer -l hosts-from -r -F -d 'the remote hosts, one a line'
    complete -c $prog -n $xfer -l relay -d 'to several hosts: the hosts forward to each other'
    complete -c $prog -n $xfer -l no-relay -d 'to several hosts: the source sends to each'
    complete -c $prog -n $xfer -l nodes -x -d 'spread the transfer over N nodes through Slurm'
    complete -c $prog -n $xfer -l partition -x -d 'with --nodes: the Slurm partition'
    complete -c $prog -n $xfer -l account -x -d 'with --nodes: the Slurm account'
    complete -c $prog -n $xfer -l time -x -d 'with --nodes: the Slurm job time limit'
    complete -c $prog -n $xfer -l slurm-wait -x -d 'with --nodes: seconds to wait for the nodes'
    complete -c $prog -n $xfer -s c -l check -d 'only check that key login works: print true or false'
    complete -c $prog -n $xfer -l workers -x -d 'rsync processes at once'
    complete -c $prog -n $xfer -l retries -x -d 'attempts per part for passing failures'
    complete -c $prog -n $xfer -l bwlimit -x -d 'at most this rate for the whole transfer (50M, 1G)'
    complete -c $prog -n $xfer -l delete -d 'mirror: remove from the far side what the source lacks'
    complete -c $prog -n $xfer -l max-delete -x -d 'fail before deleting more than this many'
    complete -c $prog -n $xfer -l delete-all-ok -d 'delete even when the source is empty'
    complete -c $prog -n $xfer -l exclude -x -d 'leave out what matches'
    complete -c $prog -n $xfer -l include -x -d 'keep what matches, before later excludes'
    complete -c $prog -n $xfer -l exclude-from -r -F -d 'the rules in a file, one a line'
    complete -c $prog -n $xfer -l dry-run -d 'change nothing: print what would be sent and deleted'
    complete -c $prog -n $xfer -l json -d 'with --dry-run: the changes as a JSON array'
    complete -c $prog -n $xfer -l notify -x -d 'POST the record at each change of state'
    complete -c $prog -n $xfer -l notify-cmd -r -d 'run a program with the record on its stdin'
    complete -c $prog -n $xfer -l verify -d 'compare with the far side by content, and send what differs'
    complete -c $prog -n $xfer -l checksum -d 'the same as --verify'
    complete -c $prog -n '__scow_sync_is verify' -l repair -d 'send what differs'
    complete -c $prog -n '__scow_sync_is verify' -l json -d 'the differences as a JSON array'
    complete -c $prog -n $xfer -s H -l hard-links -d 'keep hard links'
    complete -c $prog -n $xfer -s A -l acls -d 'keep ACLs'
    complete -c $prog -n $xfer -s X -l xattrs -d 'keep extended attributes'
    complete -c $prog -n $xfer -s S -l sparse -d 'keep holes in sparse files'
    complete -c $prog -n $xfer -l numeric-ids -d 'owners and groups by number, not by name'
    complete -c $prog -n $xfer -l chmod -x -d 'change modes as rsync --chmod does'
    complete -c $prog -n $xfer -l chown -x -d 'USER, USER:GROUP or :GROUP on the far side'
    complete -c $prog -n $xfer -l endpoint -x -d 'an object store endpoint, for -d s3://BUCKET/PREFIX'
    complete -c $prog -n $xfer -l region -x -d 'the object store region'
    complete -c $prog -n '__scow_sync_is none start run' -l trust-record -d 'compare with the record the last run kept, not the far side'
    complete -c $prog -n '__scow_sync_is watch' -l interval -x -d 'compare the whole tree this often (seconds)'
    complete -c $prog -n '__scow_sync_is watch' -l detach -d 'run in the background, as start does'
    complete -c $prog -n '__scow_sync_is watch' -l save -x -d 'save these options as a named watch, and exit'
    complete -c $prog -n '__scow_sync_is watch' -l saved -x -d 'run the watch saved under this name'

    # start, run and terminate.
    set -l named '__scow_sync_is none start run watch terminate'
    set -l verbosity '__scow_sync_is none start run watch query terminate resume verify limit status prune log config'
    complete -c $prog -n $named -s a -l address -x -a '(__fish_print_hostnames)' -d 'remote host'
    complete -c $prog -n $named -s u -l user -x -a '(__fish_complete_users)' -d 'remote user'
    complete -c $prog -n $named -s s -l source -r -F -d 'local file or directory'
    complete -c $prog -n $verbosity -s v -l verbose -d 'say more'
    complete -c $prog -n $verbosity -s q -l quiet -d 'say only errors'

    # terminate, and the history selection of query and status.
    set -l select '__scow_sync_is terminate query status'
    complete -c $prog -n $select -l id -x -d 'the transfer with this id'
    complete -c $prog -n $select -l all -d 'every running transfer; the whole history'
    complete -c $prog -n '__scow_sync_is query status' -l state -x \
        -a 'queued running watching done failed terminated interrupted' -d 'only these states'
    complete -c $prog -n '__scow_sync_is query status' -l since -x -d 'ended since (2026-11-30, 12h, 7d)'
    complete -c $prog -n '__scow_sync_is query' -l json -d 'one object per transfer, for programs'

    # prune and log.
    complete -c $prog -n '__scow_sync_is prune' -l older-than -x -d 'days since the transfer ended'
    complete -c $prog -n '__scow_sync_is log' -s e -l errors -d 'only warnings and errors'

    # resume and verify.
    complete -c $prog -n '__scow_sync_is resume' -s f -l foreground -d 'run here and wait for the end'
    complete -c $prog -n '__scow_sync_is resume verify' -l workers -x -d 'rsync processes at once'
    complete -c $prog -n '__scow_sync_is resume verify' -l bwlimit -x -d 'at most this rate for the whole transfer (50M, 1G)'
    complete -c $prog -n '__scow_sync_is resume verify' -l retries -x -d 'attempts per part for passing failures'

    # Every command.
    set -l any '__scow_sync_is none start run watch query terminate resume verify limit status prune log config'
    complete -c $prog -n $any -s h -l help -d 'show help'
    complete -c $prog -n $any -l version -d 'show the version'
end
