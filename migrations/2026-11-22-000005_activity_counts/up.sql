-- Activity counts per kind of a page of opportunities, answered from the index alone
-- (measured at 1,000,000 opportunities: half the buffers of the timeline index plus heap).
CREATE INDEX activities_kind_count_idx ON activities (opportunity_id, kind);
