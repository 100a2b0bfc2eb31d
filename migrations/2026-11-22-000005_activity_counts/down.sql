DROP INDEX activities_kind_count_idx;
