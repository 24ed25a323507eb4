/* rsync: not written yet */
