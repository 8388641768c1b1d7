-- The pull request's source branch, found with its head: updates of the workflow that give no
-- `ref` use it (Bitbucket Cloud's refname, GitLab's ref).
ALTER TABLE pr_heads ADD COLUMN ref TEXT;
