-- Nothing reads sends by creation time any more: the volume facts come from the hourly
-- counters. The index only cost every submission's commit another page write.
DROP INDEX sends_created;
