-- No query reads sends by audience and time (the volume facts come from the hourly counters,
-- the approval queue reads held sends by state). With many lists sending at once each
-- submission's commit wrote another leaf page of this index, one per list.
DROP INDEX sends_audience;
