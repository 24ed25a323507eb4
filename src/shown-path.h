/*
 * shown-path: from a name as scow-sync shows it (display_path(), where
 * bytes that are not UTF-8 become U+FFFD) back to the file it stands for,
 * as terminate -s takes a path the portal got from query.
 */
#ifndef SCOW_SYNC_SHOWN_PATH_H
#define SCOW_SYNC_SHOWN_PATH_H

/*
 * Find the file that display_path() shows as shown (absolute): each
 * component that holds U+FFFD and is not a name as it is stands for the
 * one entry of its directory shown that way. Sets *out (caller frees);
 * SYNC_ERR_NOT_FOUND when there is none, SYNC_ERR_AMBIGUOUS when two
 * names differ only in bytes that are not UTF-8.
 */
int path_from_shown(const char *shown, char **out);

#endif
